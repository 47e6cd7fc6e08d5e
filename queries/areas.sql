-- name: area-insert
-- Add one study area; returns its id.
-- params: name, kind, geometry, geodesic_km2, official_km2, population, population_year, population_source, admin_level, osm_id, source, credit, source_id, min_lon, min_lat, max_lon, max_lat
-- bind: relation
INSERT INTO areas (name, kind, geometry, geodesic_km2, official_km2, population,
                   population_year, population_source, admin_level, osm_id, source, credit,
                   source_id, min_lon, min_lat, max_lon, max_lat)
VALUES ($name, $kind, $geometry, $geodesic_km2, $official_km2, $population, $population_year,
        $population_source, $admin_level, $osm_id, $source, $credit, $source_id,
        $min_lon, $min_lat, $max_lon, $max_lat)
RETURNING id;

-- name: area-delete-cache
-- Drop the cached grids of an area (before the area itself).
-- params: name
DELETE FROM grid_cache WHERE area_id IN (SELECT id FROM areas WHERE name = $name);

-- name: area-delete
-- Remove an area.
-- params: name
DELETE FROM areas WHERE name = $name;

-- name: area-names
-- Every area name (to keep names unique).
SELECT name FROM areas;

-- name: area-list
-- Every area with its figures (the geometry stays in the store).
SELECT id, name, kind, coalesce(official_km2, geodesic_km2) AS area_km2,
       official_km2 IS NOT NULL AS area_official, geodesic_km2, population, population_year,
       population_source, admin_level, osm_id, source, credit, reported_cameras,
       reported_source, min_lon, min_lat, max_lon, max_lat
FROM areas
ORDER BY kind, name;

-- name: area-get
-- One area by exact name, with its geometry.
-- params: name
SELECT id, name, kind, geometry, coalesce(official_km2, geodesic_km2) AS area_km2,
       official_km2 IS NOT NULL AS area_official, geodesic_km2, population, population_year,
       population_source, admin_level, source, credit, reported_cameras, reported_source,
       min_lon, min_lat, max_lon, max_lat
FROM areas WHERE name = $name;

-- name: area-set-reported
-- Record a published camera count for an area, and where it was published.
-- params: name, reported, reported_source
UPDATE areas SET reported_cameras = $reported, reported_source = $reported_source
WHERE name = $name;

-- name: area-set-population
-- Set an area's population and its year and source.
-- params: name, population, population_year, population_source
UPDATE areas SET population = $population, population_year = $population_year,
                 population_source = $population_source
WHERE name = $name;

-- name: area-rename
-- Give an area a new name (its figures and cache stay).
-- params: name, new_name
UPDATE areas SET name = $new_name WHERE name = $name;
