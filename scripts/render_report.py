"""Summary, evaluation tables, figures and provenance -> one self-contained HTML report."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]):
    from oncoae.atomic import atomic_path
    from oncoae.report.assemble import assemble_report

    document = assemble_report(snakemake.input, snakemake.params)
    with atomic_path(snakemake.output[0]) as path:
        path.write_text(document, encoding="utf-8")
