"""Steps the layer's Makefile runs at build time (``sam build``), never at run time: pruning
botocore's data and compiling the mail templates."""
