"""Tiny files in the exact layouts of UCSC Xena hubs and cBioPortal datahub studies, and a real HTTP server on
127.0.0.1 that serves them (with optional faults), for download and source tests. Nothing reaches the internet.
"""

from __future__ import annotations

import io
import tarfile
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

SUBTYPES = ["BRCA_LumA", "BRCA_Basal", "BRCA_Her2"]


def _patients(n: int) -> list[str]:
    return [f"TCGA-A{i % 9}-A{i:03d}" for i in range(n)]


def cohort(n: int = 60, seed: int = 0):
    """Patients, their subtype, and expression with subtype signal."""
    rng = np.random.default_rng(seed)
    patients = _patients(n)
    subtype = rng.integers(0, 3, size=n)
    genes = [f"GENE{j}" for j in range(40)]
    means = rng.normal(0, 2.5, size=(3, 40))
    expression = means[subtype] + rng.normal(0, 1, size=(n, 40)) + 6
    return patients, subtype, genes, expression


def xena_files(n: int = 60) -> dict[str, bytes]:
    """Dataset name -> bytes, as on a Xena hub (matrices genes x samples, survival and subtype tables)."""
    patients, subtype, genes, expression = cohort(n)
    samples = [f"{p}-01" for p in patients]
    # One normal sample that must be dropped, as TCGA matrices contain them.
    header = "sample\t" + "\t".join(samples + [f"{patients[0]}-11"])
    rows = [f"{g}\t" + "\t".join(f"{v:.4f}" for v in [*expression[:, j], 5.0]) for j, g in enumerate(genes)]
    matrix = ("\n".join([header, *rows]) + "\n").encode()
    rng = np.random.default_rng(1)
    survival_rows = ["sample\t_PATIENT\tcancer type abbreviation\tOS\tOS.time\tPFI\tPFI.time\tRedaction"]
    for sample, patient in zip(samples, patients, strict=True):
        survival_rows.append(
            f"{sample}\t{patient}\tBRCA\t{int(rng.random() < 0.4)}\t{rng.integers(30, 4000)}\t0\t100\t"
        )
    survival_rows.append("TCGA-ZZ-Z999-01\tTCGA-ZZ-Z999\tLUAD\t1\t300\t1\t200\t")
    subtype_rows = ["sampleID\tSubtype_mRNA\tSubtype_Selected"] + [
        f"{s}\t{SUBTYPES[t].split('_')[1]}\t{SUBTYPES[t]}" for s, t in zip(samples, subtype, strict=True)
    ]
    return {
        "EB++AdjustPANCAN_IlluminaHiSeq_RNASeqV2.geneExp.xena.gz": _gzip(matrix),
        "Survival_SupplementalTable_S1_20171025_xena_sp": ("\n".join(survival_rows) + "\n").encode(),
        "TCGASubtype.20170308.tsv": ("\n".join(subtype_rows) + "\n").encode(),
    }


def _gzip(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data, mtime=0)


def cbioportal_tarball(study: str = "brca_tcga_pan_can_atlas_2018", n: int = 60, evil: bool = False) -> bytes:
    """A datahub study tarball: patient table with '#' lines, RSEM matrix, MAF, CNA matrix and case lists."""
    patients, subtype, genes, expression = cohort(n)
    samples = [f"{p}-01" for p in patients]
    rng = np.random.default_rng(2)
    clinical = [
        "#Patient Identifier\tSubtype\tOverall Survival Status\tOverall Survival (Months)",
        "#Identifier to uniquely specify a patient.\tSubtype\tOverall patient survival status.\tOverall survival.",
        "#STRING\tSTRING\tSTRING\tNUMBER",
        "#1\t1\t1\t1",
        "PATIENT_ID\tSUBTYPE\tOS_STATUS\tOS_MONTHS",
    ]
    for patient, t in zip(patients, subtype, strict=True):
        status = "1:DECEASED" if rng.random() < 0.4 else "0:LIVING"
        clinical.append(f"{patient}\t{SUBTYPES[t]}\t{status}\t{rng.uniform(1, 120):.2f}")
    rsem = ["Hugo_Symbol\tEntrez_Gene_Id\t" + "\t".join(samples)]
    rsem += [f"{g}\t{1000 + j}\t" + "\t".join(f"{2**v:.2f}" for v in expression[:, j]) for j, g in enumerate(genes)]
    maf = ["#version 2.4", "Hugo_Symbol\tEntrez_Gene_Id\tTumor_Sample_Barcode\tVariant_Classification"]
    drivers = {0: "PIK3CA", 1: "TP53", 2: "ERBB2"}
    for sample, t in zip(samples[:-1], subtype[:-1], strict=True):  # the last tumor has no mutation at all
        maf.append(f"{drivers[t]}\t1\t{sample}\tMissense_Mutation")
        maf.append(f"TTN\t2\t{sample}\tSilent")
    cases = [f"cancer_study_identifier: {study}", "stable_id: x", "case_list_ids: " + "\t".join(samples)]
    files = {
        f"{study}/data_clinical_patient.txt": "\n".join(clinical) + "\n",
        f"{study}/data_mrna_seq_v2_rsem.txt": "\n".join(rsem) + "\n",
        f"{study}/data_mutations.txt": "\n".join(maf) + "\n",
        f"{study}/case_lists/cases_sequenced.txt": "\n".join(cases) + "\n",
    }
    if evil:
        files["../escaped.txt"] = "this must never be written\n"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@dataclass
class FixtureServer:
    """A real HTTP server on 127.0.0.1 serving ``files`` (URL path -> bytes).

    ``truncate`` maps a path to how many times its body is cut short (connection closed mid-body) before it is
    served whole; ``requests`` counts the requests per path.
    """

    files: dict[str, bytes]
    truncate: dict[str, int] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                path = urllib.parse.unquote(self.path)
                server.requests[path] = server.requests.get(path, 0) + 1
                body = server.files.get(path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.truncate.get(path, 0) > 0:
                    server.truncate[path] -= 1
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
