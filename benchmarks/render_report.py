"""Build the HTML report over a small synthetic results folder and render it in headless Chromium
to a PNG, to look at what a browser shows (tables, figures, folded lists).

    python benchmarks/render_report.py /tmp/report_check        # -> /tmp/report_check/report.png
    (needs chromium: apt-get install -y chromium)
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_results import generate  # noqa: E402

from albert_bench.reports import load_results  # noqa: E402
from albert_bench.reports.html import write_report  # noqa: E402

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--records", type=int, default=192, help="records to generate (8 models x 12 tasks x 2 seeds)")
    parser.add_argument("--examples", type=int, default=500)
    parser.add_argument("--height", type=int, default=6000, help="window height in pixels (the PNG's height)")
    args = parser.parse_args()
    out = Path(args.out_dir)
    results = generate(out / "results", args.records, args.examples)
    page = write_report(load_results(results), out, bootstrap=1000)
    browser = next((b for b in BROWSERS if shutil.which(b)), None)
    if browser is None:
        sys.exit(f"wrote {page}; no Chromium found ({', '.join(BROWSERS)}): apt-get install -y chromium")
    png = out / "report.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={png}",
                    f"--window-size=1280,{args.height}", page.resolve().as_uri()],
                   check=True, capture_output=True, timeout=300)
    print(png)


if __name__ == "__main__":
    main()
