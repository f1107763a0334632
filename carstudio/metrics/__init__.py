"""Evaluation metrics: Fréchet distances (FD-seg offline, FID with local Inception weights),
SIFID, the SinGAN score M, segmentation IoU, and paired image scores. Import the submodules."""
