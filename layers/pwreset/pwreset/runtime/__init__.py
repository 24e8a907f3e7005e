"""How the functions run on Lambda, apart from what they do: SnapStart's hooks, package
initialisers run lazily, tracing without the X-Ray SDK, and the offline answers warm-ups get.

Nothing here knows the service (not even its configuration), so every other area may build on it:
``core``'s observability traces through it and its AWS clients warm up through it."""
