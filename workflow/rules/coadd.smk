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
    threads: resources.coadd_threads(CFG)
    resources:
        mem_mb=lambda wildcards, attempt: resources.coadd_mem_mb(CFG, attempt),
        runtime=lambda wildcards, threads, attempt: resources.coadd_runtime_min(CFG, threads, attempt),
    shell:
        THREADS_ENV + " pyimcom coadd {params.config} --block {wildcards.ibx} {wildcards.iby} "
        "--plan {input.plan} > {log} 2>&1"
