# Coaddition: one job per block; its inputs are exactly the images of the block's plan entry.


rule coadd_block:
    input:
        unpack(get_block_inputs),
        plan=PLAN,
    output:
        f"{CFG.outstem}_{{ibx}}_{{iby}}.fits",
    log:
        "logs/coadd_block/{ibx}_{iby}.log",
    benchmark:
        "results/benchmarks/coadd_block/{ibx}_{iby}.tsv"
    params:
        config=config["pyimcom_config"],
        # every keyword of the PyIMCOM JSON: any change reruns the blocks
        settings=CTX.coadd_settings(),
    threads: 2
    resources:
        mem_mb=lambda wildcards, attempt: CTX.coadd_mem_mb(attempt),
    shell:
        "NUMBA_NUM_THREADS={threads} pyimcom coadd {params.config} --block {wildcards.ibx} {wildcards.iby} "
        "--plan {input.plan} > {log} 2>&1"
