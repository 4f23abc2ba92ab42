// adam kernels: filled by its op's author
