# The plan: for every block the sorted (obsid, sca) images it needs, and the strip of every image.
# A checkpoint: the layer and block jobs of later stages are derived from its content.


checkpoint plan:
    input:
        get_plan_inputs(),
    output:
        PLAN,
    log:
        "logs/plan.log",
    benchmark:
        "results/benchmarks/plan.tsv"
    params:
        config=config["pyimcom_config"],
        strip_rows=config["strip_rows"] or "",
        mode=config["plan_mode"],
        # exactly the settings the plan depends on
        geometry=[CFG.ra, CFG.dec, CFG.lonpole, CFG.nblock, CFG.n1, CFG.n2, CFG.dtheta_arcsec,
                  CFG.postage_pad, CFG.pad_sides, CFG.inpad_arcsec, CFG.use_filter, CFG.outstem],
    shell:
        "pyimcom plan {params.config} --output {output} --mode {params.mode} "
        "$([ -n '{params.strip_rows}' ] && echo --strip-rows {params.strip_rows}) > {log} 2>&1"
