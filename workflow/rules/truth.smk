# Truth catalogue: one job per mosaic. Block WCSs are functions of the configuration, so the catalogue
# reads nothing but the PyIMCOM JSON and never waits for (or depends on) block files. The JSON is not
# an input file: only the settings below (params) rerun it, so a solver edit does not.


rule truth_catalog:
    output:
        f"{CFG.outstem}_TruthCat.fits",
    log:
        "logs/truth_catalog.log",
    benchmark:
        "results/benchmarks/truth_catalog.tsv"
    params:
        config=config["pyimcom_config"],
        # exactly the settings the catalogue depends on (geometry, filter, layer recipes)
        settings=[CFG.ra, CFG.dec, CFG.lonpole, CFG.nblock, CFG.n1, CFG.n2, CFG.dtheta_arcsec,
                  CFG.postage_pad, CFG.pad_sides, CFG.use_filter, CFG.extrainput[1:]],
    shell:
        "pyimcom truthcat {params.config} --output {output} > {log} 2>&1"
