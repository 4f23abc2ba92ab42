# spectrum: filled by its op's author
