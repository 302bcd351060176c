"""PDF through LibreOffice headless (``soffice --headless --convert-to pdf``), where it is
installed; :func:`soffice` says whether it is."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path


class PdfUnavailable(RuntimeError):
    """LibreOffice (soffice) is not installed."""


def soffice() -> str | None:
    for name in ("soffice", "libreoffice"):
        path = shutil.which(name)
        if path:
            return path
    return None


def docx_to_pdf(docx: Path, pdf: Path, timeout: float = 300) -> Path:
    """Convert with a private LibreOffice profile (so concurrent runs do not collide)."""
    exe = soffice()
    if exe is None:
        raise PdfUnavailable(
            "Không tìm thấy LibreOffice (soffice) để xuất PDF; cài đặt: apt-get install "
            "libreoffice-writer-nogui (LibreOffice is not installed)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        profile = Path(tmp) / "profile"
        out_dir = Path(tmp) / "out"
        out_dir.mkdir()
        cmd = [
            exe,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out_dir),
            str(docx),
        ]
        env = dict(os.environ, HOME=tmp)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        produced = out_dir / (Path(docx).stem + ".pdf")
        if proc.returncode != 0 or not produced.exists():
            raise RuntimeError(
                f"LibreOffice could not convert {docx}: {proc.stderr.strip() or proc.stdout.strip()}"
            )
        shutil.move(str(produced), pdf)
    return pdf
