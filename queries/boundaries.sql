-- name: boundaries-load-relations
-- Pass 1 over a PBF: boundary=administrative relations (type=boundary or multipolygon),
-- optionally of one admin_level (compared as trimmed text; NULL = every level). Relations
-- with more than $max_members members keep their tags but not their member lists.
-- params: path, level, max_members
CREATE TEMP TABLE boundary_relations AS
SELECT
    id,
    tags,
    len(refs) AS n_members,
    CASE WHEN len(refs) <= $max_members THEN refs END AS refs,
    CASE WHEN len(refs) <= $max_members THEN ref_types::VARCHAR[] END AS ref_types,
    CASE WHEN len(refs) <= $max_members THEN ref_roles END AS ref_roles
FROM ST_ReadOSM($path)
WHERE kind = 'relation'
  AND trim(tags['boundary']) = 'administrative'
  AND trim(tags['type']) IN ('boundary', 'multipolygon')
  AND ($level IS NULL OR trim(tags['admin_level']) = $level);

-- name: boundaries-load-members
-- The way members of those relations with role outer, inner or empty (empty counts as
-- outer); a way listed twice in one relation is kept once (its first listing).
CREATE TEMP TABLE boundary_members AS
WITH listed AS (
    SELECT
        id AS rel_id,
        unnest(refs) AS way_id,
        unnest(ref_types) AS member_type,
        coalesce(trim(unnest(ref_roles)), '') AS member_role,
        generate_subscripts(refs, 1) AS pos
    FROM boundary_relations
    WHERE refs IS NOT NULL
)
SELECT
    rel_id,
    way_id,
    CASE WHEN member_role = 'inner' THEN 'inner' ELSE 'outer' END AS role,
    pos
FROM listed
WHERE member_type = 'way' AND member_role IN ('outer', 'inner', '')
QUALIFY row_number() OVER (PARTITION BY rel_id, way_id ORDER BY pos) = 1;

-- name: boundaries-load-ways
-- Pass 2: the member ways present in the extract, with their node refs.
-- params: path
CREATE TEMP TABLE boundary_ways AS
SELECT id, refs
FROM ST_ReadOSM($path)
WHERE kind = 'way' AND id IN (SELECT way_id FROM boundary_members);

-- name: boundaries-load-nodes
-- Pass 3: only the nodes those ways refer to, with their coordinates.
-- params: path
CREATE TEMP TABLE boundary_nodes AS
SELECT id, lon, lat
FROM ST_ReadOSM($path)
WHERE kind = 'node' AND id IN (SELECT DISTINCT unnest(refs) FROM boundary_ways);

-- name: boundaries-relations
-- The relations read by pass 1, with their tags and member counts.
SELECT id, tags, n_members, refs IS NULL AS too_many_members
FROM boundary_relations
ORDER BY id;

-- name: boundaries-member-ways
-- One row per way member: whether the way is in the extract, its end node ids, its
-- coordinates in node order and how many of its nodes are missing from the extract.
WITH points AS (
    SELECT id AS way_id, unnest(refs) AS node_id, generate_subscripts(refs, 1) AS pos
    FROM boundary_ways
),
shapes AS (
    SELECT
        p.way_id,
        count(*) FILTER (WHERE n.id IS NULL) AS missing_nodes,
        list(n.lon ORDER BY p.pos) AS lons,
        list(n.lat ORDER BY p.pos) AS lats,
        arg_min(p.node_id, p.pos) AS first_node,
        arg_max(p.node_id, p.pos) AS last_node
    FROM points AS p
    LEFT JOIN boundary_nodes AS n ON n.id = p.node_id
    GROUP BY p.way_id
)
SELECT
    m.rel_id,
    m.way_id,
    m.role,
    w.id IS NOT NULL AS found,
    s.missing_nodes,
    s.lons,
    s.lats,
    s.first_node,
    s.last_node
FROM boundary_members AS m
LEFT JOIN boundary_ways AS w ON w.id = m.way_id
LEFT JOIN shapes AS s ON s.way_id = m.way_id
ORDER BY m.rel_id, m.pos;
