"""The evidence map: the grid of molecules by region, the self-contained page and the figure."""
