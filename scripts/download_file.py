"""URL(s) -> one cached file with a manifest (retries, checksum, atomic rename)."""

from oncoae.steplog import step_logging

with step_logging(snakemake.log[0]):
    from oncoae.data.download import RetryPolicy, download_first_available

    params = snakemake.params
    download_first_available(params.urls, snakemake.output[0], params.sha256, RetryPolicy(**params.retry))
