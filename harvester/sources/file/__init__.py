"""The author's own figures as a third source: a CSV or Excel file the plan author keeps.

`spec` is what the config says about a file (and is all `config` imports from here), `numbers`
reads the numbers people type, `reader` turns a file into checked rows with file:row errors,
`source` is the `Source` the harvest drives. docs/sources.md "Adding a source" walks through it.
"""
