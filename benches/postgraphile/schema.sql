-- The PostgreSQL schema of the PostGraphile peer (benches/postgraphile/run.sh).
--
-- A normalized model of the dataset interchange format (shared DOMAIN.md): one table per
-- entity, one join table per multi-valued field, natural keys as primary keys, every
-- reference a foreign key, an index behind every foreign key and filter column the
-- benchmark queries use, and stored tsvector columns with GIN indexes for full-text search.
-- Smart comments (@name, @fieldName, @foreignFieldName, @omit) only tidy the names
-- PostGraphile derives, and @foreignKey gives the search view its relations; none changes SQL.
--
-- Keys are compared byte-wise (the cluster is created with --locale=C), as recover-better
-- does, so "first N in key order" means the same rows in both products.

create type un_regional_group as enum
  ('AFRICAN', 'ASIA_PACIFIC', 'EASTERN_EUROPEAN', 'LATIN_AMERICAN_CARIBBEAN', 'WESTERN_EUROPEAN_OTHERS');
create type response as enum ('SUPPORTED', 'NOTED', 'PENDING', 'PARTIALLY_SUPPORTED');
create type measure_category as enum
  ('HEALTH', 'SOCIAL_PROTECTION', 'ECONOMIC', 'LABOUR', 'EDUCATION', 'HOUSING', 'MOVEMENT',
   'ASSEMBLY', 'EMERGENCY_POWERS', 'DETENTION', 'JUSTICE', 'GENDER_BASED_VIOLENCE',
   'INFORMATION', 'PRIVACY');
create type link_relation as enum ('IMPLEMENTS', 'PARTIALLY_IMPLEMENTS', 'RELATED', 'CONTRADICTS');
create type link_status as enum ('CONFIRMED', 'SUGGESTED', 'REJECTED');

-- Taxonomies ---------------------------------------------------------------------------

create table sdgs (
  goal smallint primary key check (goal between 1 and 17),
  name text not null
);

create table themes (
  slug text primary key,
  name text not null,
  source text
);

create table theme_sdgs (
  theme_slug text not null references themes,
  sdg smallint not null references sdgs,
  primary key (theme_slug, sdg)
);
create index on theme_sdgs (sdg);

create table groups (
  slug text primary key,
  name text not null,
  source text
);

create table measure_categories (
  code measure_category primary key,
  name text not null,
  oxcgrt text[] not null default '{}'
);
-- The enum is MeasureCategory in GraphQL; the table's type takes recover-better's name.
comment on table measure_categories is E'@name measure_category_info';

create table measure_category_themes (
  category measure_category not null references measure_categories,
  theme_slug text not null references themes,
  primary key (category, theme_slug)
);
create index on measure_category_themes (theme_slug);

-- Countries, cycles, sessions ----------------------------------------------------------

create table countries (
  code text primary key check (code ~ '^[A-Z]{3}$'),
  iso2 text,
  name text not null,
  region text,
  subregion text,
  un_regional_group un_regional_group
);
create index on countries (un_regional_group);

create table cycles (
  number smallint primary key check (number between 1 and 4),
  start_date date,
  end_date date
);

create table sessions (
  number smallint primary key,
  cycle_number smallint not null references cycles,
  start_date date,
  end_date date,
  unique (number, cycle_number)
);
comment on constraint sessions_number_cycle_number_key on sessions is E'@omit';
comment on constraint sessions_cycle_number_fkey on sessions is
  E'@fieldName cycle\n@foreignFieldName sessions';
create index on sessions (cycle_number);

create table session_states (
  session_number smallint not null references sessions,
  country_code text not null references countries,
  primary key (session_number, country_code)
);
comment on constraint session_states_session_number_fkey on session_states is
  E'@fieldName session\n@foreignFieldName statesUnderReview';
create index on session_states (country_code);
comment on constraint session_states_country_code_fkey on session_states is
  E'@fieldName country\n@foreignFieldName reviews';

-- Recommendations ----------------------------------------------------------------------

create table recommendations (
  id text primary key,
  text text not null,
  state_under_review_code text not null,
  session_number smallint not null,
  -- Follows from the session; kept here (and checked against it by a foreign key) so that
  -- the common "cycle = N" filter needs no join.
  cycle_number smallint not null,
  response response not null,
  action_category smallint check (action_category between 1 and 5),
  document text,
  paragraph text,
  search_vector tsvector generated always as (to_tsvector('english'::regconfig, text)) stored,
  constraint recommendations_state_under_review_fkey
    foreign key (state_under_review_code) references countries,
  constraint recommendations_session_fkey
    foreign key (session_number) references sessions,
  constraint recommendations_cycle_fkey
    foreign key (cycle_number) references cycles,
  constraint recommendations_session_cycle_fkey
    foreign key (session_number, cycle_number) references sessions (number, cycle_number),
  -- The invariant: the State under review is among its session's States under review.
  constraint recommendations_session_state_fkey
    foreign key (session_number, state_under_review_code)
    references session_states (session_number, country_code)
);
comment on column recommendations.search_vector is E'@omit';
comment on constraint recommendations_state_under_review_fkey on recommendations is
  E'@fieldName stateUnderReview\n@foreignFieldName recommendationsReceived';
comment on constraint recommendations_session_fkey on recommendations is
  E'@fieldName session\n@foreignFieldName recommendations';
comment on constraint recommendations_cycle_fkey on recommendations is
  E'@fieldName cycle\n@foreignFieldName recommendations';
comment on constraint recommendations_session_cycle_fkey on recommendations is E'@omit';
comment on constraint recommendations_session_state_fkey on recommendations is E'@omit';

-- Filter columns first, the key last: "first N in key order" and the totalCount of a filtered
-- set are then read from the index alone (index-only scans after VACUUM).
create index on recommendations (state_under_review_code, cycle_number, id);
create index on recommendations (session_number);
create index on recommendations (cycle_number, response, id);
create index on recommendations using gin (search_vector);

create table recommendation_recommending_states (
  recommendation_id text not null references recommendations on delete cascade,
  country_code text not null references countries,
  position smallint not null,
  primary key (recommendation_id, country_code)
);
create index on recommendation_recommending_states (country_code);
comment on constraint recommendation_recommending_states_recommendation_id_fkey
  on recommendation_recommending_states is E'@foreignFieldName recommendingStates';
comment on constraint recommendation_recommending_states_country_code_fkey
  on recommendation_recommending_states is
  E'@fieldName country\n@foreignFieldName recommendationsMade';

create table recommendation_themes (
  recommendation_id text not null references recommendations on delete cascade,
  theme_slug text not null references themes,
  primary key (recommendation_id, theme_slug)
);
create index on recommendation_themes (theme_slug, recommendation_id);
comment on constraint recommendation_themes_recommendation_id_fkey
  on recommendation_themes is E'@foreignFieldName themes';

create table recommendation_groups (
  recommendation_id text not null references recommendations on delete cascade,
  group_slug text not null references groups,
  primary key (recommendation_id, group_slug)
);
create index on recommendation_groups (group_slug, recommendation_id);
comment on constraint recommendation_groups_recommendation_id_fkey
  on recommendation_groups is E'@foreignFieldName groups';

create table recommendation_sdgs (
  recommendation_id text not null references recommendations on delete cascade,
  sdg smallint not null references sdgs,
  primary key (recommendation_id, sdg)
);
create index on recommendation_sdgs (sdg, recommendation_id);
comment on constraint recommendation_sdgs_recommendation_id_fkey
  on recommendation_sdgs is E'@foreignFieldName sdgs';

-- Measures -----------------------------------------------------------------------------

create table measures (
  id text primary key,
  country_code text not null references countries,
  title text not null,
  description text not null,
  category measure_category not null references measure_categories,
  start_date date not null,
  end_date date,
  source text,
  source_code text,
  source_url text,
  search_vector tsvector generated always as
    (to_tsvector('english'::regconfig, title || E'\n' || description)) stored,
  check (end_date is null or end_date >= start_date)
);
comment on column measures.search_vector is E'@omit';
comment on constraint measures_country_code_fkey on measures is
  E'@fieldName country\n@foreignFieldName measures';
comment on constraint measures_category_fkey on measures is
  E'@fieldName categoryInfo\n@foreignFieldName measures';
create index on measures (country_code, category, id);
create index on measures (category);
create index on measures (start_date);
create index on measures using gin (search_vector);

create table measure_themes (
  measure_id text not null references measures on delete cascade,
  theme_slug text not null references themes,
  primary key (measure_id, theme_slug)
);
create index on measure_themes (theme_slug, measure_id);
comment on constraint measure_themes_measure_id_fkey on measure_themes is E'@foreignFieldName themes';

create table measure_groups (
  measure_id text not null references measures on delete cascade,
  group_slug text not null references groups,
  primary key (measure_id, group_slug)
);
create index on measure_groups (group_slug, measure_id);
comment on constraint measure_groups_measure_id_fkey on measure_groups is E'@foreignFieldName groups';

create table measure_sdgs (
  measure_id text not null references measures on delete cascade,
  sdg smallint not null references sdgs,
  primary key (measure_id, sdg)
);
create index on measure_sdgs (sdg, measure_id);
comment on constraint measure_sdgs_measure_id_fkey on measure_sdgs is E'@foreignFieldName sdgs';

-- Links --------------------------------------------------------------------------------

create table links (
  recommendation_id text not null references recommendations on delete cascade,
  measure_id text not null references measures on delete cascade,
  relation link_relation not null,
  status link_status not null default 'CONFIRMED',
  note text,
  evidence_url text,
  created_by text,
  created_at timestamptz,
  updated_at timestamptz,
  primary key (recommendation_id, measure_id)
);
create index on links (measure_id);
create index on links (status);
comment on constraint links_recommendation_id_fkey on links is E'@foreignFieldName links';
comment on constraint links_measure_id_fkey on links is E'@foreignFieldName links';

-- Good practices -----------------------------------------------------------------------

create table good_practices (
  id text primary key,
  title text not null,
  description text not null,
  year smallint,
  source text,
  search_vector tsvector generated always as
    (to_tsvector('english'::regconfig, title || E'\n' || description)) stored
);
comment on column good_practices.search_vector is E'@omit';
create index on good_practices (year);
create index on good_practices using gin (search_vector);

create table good_practice_countries (
  good_practice_id text not null references good_practices on delete cascade,
  country_code text not null references countries,
  primary key (good_practice_id, country_code)
);
create index on good_practice_countries (country_code);
comment on constraint good_practice_countries_good_practice_id_fkey on good_practice_countries is
  E'@foreignFieldName countries';
comment on constraint good_practice_countries_country_code_fkey on good_practice_countries is
  E'@fieldName country\n@foreignFieldName goodPractices';

create table good_practice_themes (
  good_practice_id text not null references good_practices on delete cascade,
  theme_slug text not null references themes,
  primary key (good_practice_id, theme_slug)
);
create index on good_practice_themes (theme_slug);
comment on constraint good_practice_themes_good_practice_id_fkey on good_practice_themes is
  E'@foreignFieldName themes';

create table good_practice_groups (
  good_practice_id text not null references good_practices on delete cascade,
  group_slug text not null references groups,
  primary key (good_practice_id, group_slug)
);
create index on good_practice_groups (group_slug);
comment on constraint good_practice_groups_good_practice_id_fkey on good_practice_groups is
  E'@foreignFieldName groups';

create table good_practice_sdgs (
  good_practice_id text not null references good_practices on delete cascade,
  sdg smallint not null references sdgs,
  primary key (good_practice_id, sdg)
);
create index on good_practice_sdgs (sdg);
comment on constraint good_practice_sdgs_good_practice_id_fkey on good_practice_sdgs is
  E'@foreignFieldName sdgs';

create table good_practice_measures (
  good_practice_id text not null references good_practices on delete cascade,
  measure_id text not null references measures on delete cascade,
  primary key (good_practice_id, measure_id)
);
create index on good_practice_measures (measure_id);
comment on constraint good_practice_measures_good_practice_id_fkey on good_practice_measures is
  E'@foreignFieldName measures';
comment on constraint good_practice_measures_measure_id_fkey on good_practice_measures is
  E'@foreignFieldName goodPractices';

create table good_practice_recommendations (
  good_practice_id text not null references good_practices on delete cascade,
  recommendation_id text not null references recommendations on delete cascade,
  primary key (good_practice_id, recommendation_id)
);
create index on good_practice_recommendations (recommendation_id);
comment on constraint good_practice_recommendations_good_practice_id_fkey
  on good_practice_recommendations is E'@foreignFieldName recommendations';
comment on constraint good_practice_recommendations_recommendation_id_fkey
  on good_practice_recommendations is E'@foreignFieldName goodPractices';

-- Full-text search over recommendations, measures and good practices --------------------
--
-- recover-better's `search` spans the three kinds, every word must match (English
-- stemming), best first. Here: one view over the three tables (the planner pushes the
-- @@ condition into each branch, so each table's GIN index is used), a `search` function
-- ordered by ts_rank, and `score` / `snippet` computed columns.

create view search_documents as
  select 'Recommendation'::text as kind, r.id as ref,
         r.id as recommendation_id, null::text as measure_id, null::text as good_practice_id,
         r.text as body, r.search_vector
    from recommendations r
  union all
  select 'Measure'::text, m.id, null::text, m.id, null::text,
         m.title || E'\n' || m.description, m.search_vector
    from measures m
  union all
  select 'GoodPractice'::text, g.id, null::text, null::text, g.id,
         g.title || E'\n' || g.description, g.search_vector
    from good_practices g;
comment on view search_documents is E'@name search_hit\n@foreignKey (recommendation_id) references recommendations (id)|@fieldName recommendation|@foreignFieldName searchHits\n@foreignKey (measure_id) references measures (id)|@fieldName measure|@foreignFieldName searchHits\n@foreignKey (good_practice_id) references good_practices (id)|@fieldName goodPractice|@foreignFieldName searchHits';
comment on column search_documents.search_vector is E'@omit';
comment on column search_documents.body is E'@omit';

create function search(query text) returns setof search_documents
  language sql stable parallel safe as $$
  select d.*
    from search_documents d
   where d.search_vector @@ plainto_tsquery('english', query)
   order by ts_rank(d.search_vector, plainto_tsquery('english', query)) desc, d.kind, d.ref
$$;
comment on function search(text) is
  E'Full-text search over recommendations, measures and good practices, best first.';

create function search_documents_score(hit search_documents, query text) returns real
  language sql stable parallel safe as $$
  select ts_rank(hit.search_vector, plainto_tsquery('english', query))
$$;

create function search_documents_snippet(hit search_documents, query text) returns text
  language sql stable parallel safe as $$
  select ts_headline('english', hit.body, plainto_tsquery('english', query),
                     'StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=15')
$$;
