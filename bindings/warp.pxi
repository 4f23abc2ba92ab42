# warp: filled by its op's author
