// Options the PostGraphile v4 CLI cannot take as flags; read from the working directory
// by `postgraphile` (benches/postgraphile/run.sh starts it here).
module.exports = {
  options: {
    graphileBuildOptions: {
      // postgraphile-plugin-connection-filter: filter through relations, e.g.
      // `filter: { themes: { some: { themeSlug: { in: [...] } } } }`.
      connectionFilterRelations: true,
    },
  },
};
