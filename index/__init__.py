"""Byline's core: ingest, cleaning, chunking, embedding, vector store, retrieval. No HTTP."""
