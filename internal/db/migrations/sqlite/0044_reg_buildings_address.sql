-- Buildings by address: the houses import finds a row's building by grid
-- and address, and a people file's house columns find the house by its
-- building's address (registry.Store.HouseAt).
CREATE INDEX reg_buildings_address ON reg_buildings(address, grid_code);
