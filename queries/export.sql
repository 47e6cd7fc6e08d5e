-- name: export-cameras
-- Every stored camera with its normalised fields and the path of its source, in a stable
-- order. With $public_only, cameras tagged indoor or with another non-public visibility
-- (private houses, webcams) are left out.
-- params: public_only
SELECT c.osm_type, c.osm_id, round(c.lat, 7) AS lat, round(c.lon, 7) AS lon, c.kind,
       c.visibility, c.camera_type, c.zone, c.mount, c.operator, c.directions,
       c.direction_invalid, s.path AS source
FROM cameras c JOIN sources s ON s.id = c.source_id
WHERE NOT $public_only OR c.visibility NOT IN ('indoor', 'other')
ORDER BY c.osm_type, c.osm_id;

-- name: export-geoparquet
-- Write the registered table `export_rows` as GeoParquet with point geometries and the
-- ODbL notice in the file's key-value metadata.
-- params: path, license
COPY (SELECT *, ST_Point(lon, lat) AS geometry FROM export_rows)
TO $path (FORMAT parquet, KV_METADATA {license: $license});
