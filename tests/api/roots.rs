//! Every root field answers, over both datasets, with what the files hold.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn every_root_field_answers() {
    for app in [tiny_app(), default_app()] {
        let f = &app.files;
        let r = &f.links[0].recommendation;
        let m = &f.links[0].measure;
        let gp = &f.good_practices[0].id;
        let country = &f.countries[0].code;
        let cycle = f.cycles[0].number;
        let session = f.sessions[0].number;
        let d = app
            .data(
                "query($country: String!, $cycle: Int!, $session: Int!, $r: String!, $m: String!, $gp: String!) {
                    country(code: $country) { id code }
                    countries { totalCount }
                    cycles { number }
                    cycle(number: $cycle) { number }
                    session(number: $session) { number }
                    sessions { number }
                    cycleSessions: sessions(cycle: $cycle) { number }
                    recommendation(ref: $r) { ref }
                    recommendations { totalCount }
                    measure(ref: $m) { ref }
                    measures { totalCount }
                    goodPractice(ref: $gp) { ref }
                    goodPractices { totalCount }
                    link(recommendation: $r, measure: $m) { id recommendation { ref } measure { ref } }
                    links { totalCount }
                    themes { slug }
                    groups { slug }
                    sdgs { goal }
                    measureCategories { code }
                    search(text: \"covid\") { totalCount }
                }",
                json!({ "country": country, "cycle": cycle, "session": session, "r": r, "m": m, "gp": gp }),
            )
            .await;
        assert_eq!(d["country"]["code"], country.as_str());
        assert_eq!(d["countries"]["totalCount"], f.countries.len());
        assert_eq!(d["cycles"].as_array().unwrap().len(), f.cycles.len());
        assert_eq!(d["cycle"]["number"], cycle);
        assert_eq!(d["session"]["number"], session);
        assert_eq!(d["sessions"].as_array().unwrap().len(), f.sessions.len());
        assert_eq!(
            d["cycleSessions"].as_array().unwrap().len(),
            f.sessions.iter().filter(|s| s.cycle == cycle).count()
        );
        assert_eq!(d["recommendation"]["ref"], r.as_str());
        assert_eq!(d["recommendations"]["totalCount"], f.recommendations.len());
        assert_eq!(d["measure"]["ref"], m.as_str());
        assert_eq!(d["measures"]["totalCount"], f.measures.len());
        assert_eq!(d["goodPractice"]["ref"], gp.as_str());
        assert_eq!(d["goodPractices"]["totalCount"], f.good_practices.len());
        assert_eq!(d["link"]["recommendation"]["ref"], r.as_str());
        assert_eq!(d["link"]["measure"]["ref"], m.as_str());
        assert_eq!(d["links"]["totalCount"], f.links.len());
        assert_eq!(
            strings(&d["themes"]),
            sorted(f.themes.iter().map(|t| t.slug.clone()))
        );
        assert_eq!(
            strings(&d["groups"]),
            sorted(f.groups.iter().map(|t| t.slug.clone()))
        );
        assert_eq!(d["sdgs"].as_array().unwrap().len(), 17);
        assert_eq!(
            d["measureCategories"].as_array().unwrap().len(),
            f.measure_categories.len()
        );
        assert!(d["search"]["totalCount"].as_u64().unwrap() > 0);
        let ids = json!([d["country"]["id"], d["link"]["id"]]);
        let n = app
            .data(
                "query($id: ID!, $ids: [ID!]!) {
                    node(id: $id) { id ... on Country { code } }
                    nodes(ids: $ids) { id }
                }",
                json!({ "id": d["country"]["id"], "ids": ids }),
            )
            .await;
        assert_eq!(n["node"]["code"], country.as_str());
        assert_eq!(
            n["nodes"],
            json!([{ "id": d["country"]["id"] }, { "id": d["link"]["id"] }])
        );
    }
}

#[tokio::test]
async fn every_country_by_code_matches_the_files() {
    let app = default_app();
    let f = &app.files;
    assert_eq!(
        f.countries.len(),
        195,
        "193 UN Member States, Palestine and the Holy See"
    );
    for chunk in f.countries.chunks(50) {
        let q = format!(
            "{{ {} }}",
            chunk
                .iter()
                .map(|c| format!("{}: country(code: \"{}\") {{ code iso2 name region subregion unRegionalGroup }}", c.code, c.code))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let d = app.data(&q, json!({})).await;
        for c in chunk {
            assert_eq!(
                d[&c.code],
                json!({
                    "code": c.code, "iso2": c.iso2, "name": c.name, "region": c.region,
                    "subregion": c.subregion, "unRegionalGroup": c.un_regional_group,
                }),
                "{}",
                c.code
            );
        }
    }
}

#[tokio::test]
async fn scalar_fields_of_records_match_the_files() {
    // Every field of a sample of measures and every recommendation of one session, by page.
    let app = tiny_app();
    let f = &app.files;
    let d = app
        .data(
            "{ measures(first: 500) { nodes { ref title description category startDate endDate source sourceCode sourceUrl version } } }",
            json!({}),
        )
        .await;
    let nodes = d["measures"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), f.measures.len());
    for n in nodes {
        let m = f.measure(n["ref"].as_str().unwrap());
        assert_eq!(
            n,
            &json!({
                "ref": m.id, "title": m.title, "description": m.description, "category": m.category,
                "startDate": m.start_date, "endDate": m.end_date, "source": m.source, "sourceCode": m.source_code,
                "sourceUrl": m.source_url, "version": n["version"],
            })
        );
        assert!(
            n["version"].as_i64().unwrap() >= 1,
            "a version counts from 1: {n}"
        );
    }
}
