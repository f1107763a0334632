"""Training and evaluation data: offscreen renders of the free 3D cars in Debian's game data.

Modules: parts (part ids and palette), ac3d / obj (TORCS and Trigger Rally loaders), cars (the
catalogue and model discovery), scene / camera / render / maps (the renderer), writer (dataset
files), reference (single reference images), datasets (torch loaders). Run
`python -m carstudio.data --help` for the command line. Nothing heavy is imported here, so
`carstudio.data.parts` stays cheap to import.
"""
