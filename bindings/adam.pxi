# adam: filled by its op's author
