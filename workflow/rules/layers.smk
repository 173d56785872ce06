# Input layers: one job per (obsid, SCA) writing the cached layer stack and mask; on a cluster all
# layer jobs of a strip of block rows run as one job (group).


if CTX.uses_layer_cache:

    rule input_layers:
        input:
            get_layer_inputs,
        output:
            stack=f"{CFG.inlayercache}_{{obsid}}_{{sca}}.fits",
            mask=f"{CFG.inlayercache}_{{obsid}}_{{sca}}_mask.fits",
        log:
            "logs/input_layers/{obsid}_{sca}.log",
        benchmark:
            "results/benchmarks/input_layers/{obsid}_{sca}.tsv"
        params:
            config=config["pyimcom_config"],
            # exactly the recipe-relevant settings: solver edits do not rebuild layers
            recipe=CTX.layer_recipe(),
        group:
            get_layer_group
        threads: 1
        resources:
            mem_mb=lambda wildcards, attempt: resources.layer_mem_mb(CFG, attempt),
            runtime=lambda wildcards, attempt: resources.layer_runtime_min(CFG, attempt),
        shell:
            THREADS_ENV + " pyimcom layers {params.config} --obsid {wildcards.obsid} "
            "--sca {wildcards.sca} > {log} 2>&1"
