"""Maintainer tools, not part of the runtime package: the fault sweep, the register renderer, the doc-sample
extractor. Run from the repository: `python -m tools.sweep`, `python -m tools.register`,
`python tools/extract_doc_samples.py --docs DIR`."""
