# Diagnostic report: one job per mosaic, after every block and the truth catalogue (DAG's last node).
# Statistics are computed block by block in bounded memory; the PDF is compiled with pdflatex when it
# is installed, otherwise rendered without LaTeX (with a warning in the log).


rule report:
    input:
        blocks=CTX.block_files(),
        truth=f"{CFG.outstem}_TruthCat.fits",
    output:
        pdf=f"{config['report_stem']}_main.pdf",
        tex=f"{config['report_stem']}_main.tex",
        data=directory(f"{config['report_stem']}_data"),
    log:
        "logs/report.log",
    benchmark:
        "results/benchmarks/report.tsv"
    params:
        stem=config["report_stem"],
        first_block=CTX.block_files()[0],
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: resources.report_mem_mb(CFG, attempt),
        runtime=lambda wildcards, attempt: resources.report_runtime_min(CFG, attempt),
    shell:
        THREADS_ENV + " python -m pyimcom.diagnostics.run {params.first_block} {params.stem} > {log} 2>&1"
