"""Index stores behind one interface (:class:`qa.stores.base.SearchIndex`).

- local (``qa/store.py``): FAISS + bm25s files in the index folder, the default and fastest on
  one machine;
- milvus (``qa/stores/milvus.py``): a Milvus collection, embedded (milvus-lite) or on a server,
  for collections past one machine or shared by several assistants.

Everything above retrieval (query analysis, fusion, answers, citations, CLI, web chat, eval,
bench) talks to the interface only; ``qa.store.open_index`` opens whichever the manifest names.
"""
