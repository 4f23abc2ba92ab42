// color kernels: filled by its op's author
