"""cutover: move a production read path from one backend to another — shadow, sticky canary, automatic rollback.

Packages, lowest first (CONTRIBUTING.md has the map; `.importlinter` enforces the order):
`cutover.runtime` (the functions' shared rules, also vendored into each Lambda zip),
`cutover.analysis` (the go/no-go analysis), `cutover.generator` (spec, plan, render,
terraform), `cutover.ops` and `cutover.rehearsal`, and `cutover.cli` on top.
"""
