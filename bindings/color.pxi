# color: filled by its op's author
