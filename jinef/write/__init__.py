"""The write side: reference data (:mod:`jinef.write.refdata`), the storage engines (:mod:`jinef.write.store`),
generation and import (:mod:`jinef.write.ingest`), export (:mod:`jinef.write.export`) and the compiler of the read
image (:mod:`jinef.write.compile`). Nothing here imports the read side; both meet only in :mod:`jinef.image`."""
