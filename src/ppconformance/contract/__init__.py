"""The contract layer: what the documents say, as data and pure functions (no I/O to the target, no pytest).

- `endpoints`: one `Endpoint` per Partner Program endpoint (path, wire keys, schema names, result shapes);
- `matching`: the one result matcher (AMB-RESULT-ORDER), used by the scenarios' verdicts and the fuzz checks;
- `stances`: the typed stance lookup (`AmbiguityId`, `Stances`), checked against catalogue/ambiguities.yaml.
"""
