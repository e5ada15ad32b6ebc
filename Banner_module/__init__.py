"""Home banners: the apps' and website's home carousel (SPEC Part 3, "Home banners")."""
