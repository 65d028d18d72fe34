"""Identity resolution: which master product a normalized listing is.

Normalization says what a listing states (brand, model, category, attributes); this package
decides which master product it is, against a catalog of masters. The same decision code runs
over two catalogs: an in-memory one (`catalog normalize`, the evaluation) and the Postgres
catalog the persister owns. `model` holds the shared vocabulary.
"""
