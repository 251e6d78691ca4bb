"""Typed read models: one pydantic model per Firestore collection, with its collection name
and a reader.

Each module names its collection (`COLLECTION`), describes the document as stored (camelCase
fields through aliases, unknown fields ignored so writers may add fields compatibly) and
offers the reads the dashboard needs. Writes stay with the feature that owns the collection
(ingestion, payments, enforcement, accounts); these models only read.
"""
