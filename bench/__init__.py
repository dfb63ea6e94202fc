"""Benchmarks of the harvester against koladapy on the local fake Kolada: `python -m bench.run`."""
