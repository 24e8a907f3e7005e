"""Steps the layer's Makefile runs at build time (``sam build``), never at run time: pruning
botocore's data, compiling the message catalogs and the mail templates. ``catalogs`` also keeps
the catalogs up to date in the repository (``make catalogs``)."""
