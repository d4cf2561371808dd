"""A cBioPortal study tarball -> cached tarball (with manifest) -> safely extracted study folder."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]):
    from oncoae.data.download import RetryPolicy, download, extract_tarball

    params = snakemake.params
    archive = download(params.url, params.archive, params.sha256, RetryPolicy(**params.retry))
    extract_tarball(archive, snakemake.output[0])
