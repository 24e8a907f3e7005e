"""Steps the layer's Makefile runs at build time (``sam build``), never at run time: pruning
botocore's data and compiling the mail templates. ``catalogs`` keeps the message catalogs up to
date in the repository (``make catalogs``) and compiles them."""
