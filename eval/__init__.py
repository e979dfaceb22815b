"""Retrieval evaluation: labelled questions and public benchmarks."""
