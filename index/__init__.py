"""Byline's core: ingest, cleaning, chunking, embedding, vector store and retrieval. No HTTP here."""
