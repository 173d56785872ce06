# Inputs: the built-in synthetic survey, and symbolic links that lay out the inputs as the
# PyIMCOM JSON expects (OBSFILE, INDATA/simple, INDATA/labnoise, INDATA/truth, INPSF).

if CTX.simulate:
    SIM_FILES = CTX.simulated_files()

    rule simulate_survey:
        output:
            obsfile=SIM_FILES["obsfile"][0],
            catalog=SIM_FILES["catalog"][0],
            science=SIM_FILES["science"],
            psf=SIM_FILES["psf"],
            labnoise=SIM_FILES["labnoise"],
            truth=SIM_FILES["truth"],
        log:
            "logs/simulate_survey.log",
        benchmark:
            "results/benchmarks/simulate_survey.tsv"
        params:
            config=config["pyimcom_config"],
            outdir=lambda wildcards, output: os.path.dirname(output.obsfile),
            args=CTX.simulate_args(),
            # the mosaic area the survey covers (so solver edits in the JSON do not re-simulate)
            area=[CFG.ra, CFG.dec, CFG.lonpole, CFG.nblock, CFG.n1, CFG.n2, CFG.dtheta_arcsec,
                  CFG.postage_pad, CFG.pad_sides, CFG.inpad_arcsec, CFG.use_filter],
        shell:
            "pyimcom simulate {params.config} --outdir {params.outdir} {params.args} > {log} 2>&1"


localrules:
    link_inputs,


rule link_inputs:
    input:
        get_link_source,
    output:
        "{linked}",
    run:
        from pyimcom.workflow import link_file

        link_file(input[0], output[0])
