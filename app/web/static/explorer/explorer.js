// Veerkracht-verkenner: the map of Noord-Brabant on a chosen date, from this service's public GraphQL API
// (/graphql) and its GeoJSON endpoint (/geo/municipalities.geojson). Drawn with d3-geo (vendored, global d3).
"use strict";
(function () {
  const d3 = window.d3;
  const EERSTE_DAG = "2015-01-01";
  const ROLLEN = {
    INITIATOR: "initiatiefnemer", PARTNER: "partner", PARTICIPANT: "deelnemer", OBSERVER: "waarnemer",
    EXPLORING: "verkent", HOST: "gastheer", REQUESTER: "aanvrager", PROCESS_FACILITATOR: "procesbegeleider",
    COORDINATOR: "coördinator", DESIGNER: "ontwerper", EXECUTOR: "uitvoerder", FUNDER: "financier", MEMBER: "lid",
  };
  // Okabe-Ito and related colours: distinguishable with the common forms of colour blindness.
  const ROL_KLEUREN = {
    INITIATOR: "#d55e00", PARTNER: "#0072b2", PARTICIPANT: "#009e73", OBSERVER: "#cc79a7", EXPLORING: "#e69f00",
    HOST: "#56b4e9", REQUESTER: "#8c564b", PROCESS_FACILITATOR: "#6a3d9a", COORDINATOR: "#b15928",
    DESIGNER: "#1f78b4", EXECUTOR: "#33a02c", FUNDER: "#444444", MEMBER: "#999933",
  };
  const MEERDERE_ROLLEN = "#7f7f7f";
  const AANTAL_KLEUREN = ["#eeeeee", "#c6dbef", "#6baed6", "#2171b5", "#08306b"];
  const GEEN = "#eeeeee";
  const SOORTEN = {
    PILOT: "pilot", TEST_BED: "proeftuin", METHOD: "methode", PROGRAMME: "programma", NETWORK: "netwerk",
    FUND: "fonds", KNOWLEDGE_EXCHANGE: "kennisuitwisseling",
  };
  const STATUS = { EXPLORING: "verkennend", ACTIVE: "actief", COMPLETED: "afgerond" };
  const VIA = { self: "", predecessor: "via voorganger", successor: "via de gemeente waarin zij opging" };
  const SVG = "http://www.w3.org/2000/svg";

  const $ = (id) => document.getElementById(id);
  const datumVeld = $("datum");
  const schuif = $("schuif");
  const initiatiefKeuze = $("initiatief");
  const kaart = $("kaart");
  const status = $("kaart-status");
  const gemeenteInfo = $("gemeente-info");
  const initiatiefInfo = $("initiatief-info");
  const tabelBody = document.querySelector("#tabel tbody");

  const staat = { datum: vandaag(), initiatief: "", gekozen: null, collectie: null, projectie: null, verzoek: 0 };
  const initiatiefNamen = {};

  // ------------------------------------------------------------------------------------------ helpers

  function vandaag() {
    const nu = new Date();
    const tweeCijfers = (n) => String(n).padStart(2, "0");
    return `${nu.getFullYear()}-${tweeCijfers(nu.getMonth() + 1)}-${tweeCijfers(nu.getDate())}`;
  }

  const datumOpmaak = new Intl.DateTimeFormat("nl-NL", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
  function leesbaar(iso) {
    return iso ? datumOpmaak.format(new Date(`${iso}T00:00:00Z`)) : "";
  }

  function dagVoor(iso) {
    const dag = new Date(`${iso}T00:00:00Z`);
    dag.setUTCDate(dag.getUTCDate() - 1);
    return dag.toISOString().slice(0, 10);
  }

  function maandIndex(iso) {
    return (Number(iso.slice(0, 4)) - 2015) * 12 + Number(iso.slice(5, 7)) - 1;
  }

  function maandDatum(index) {
    const jaar = 2015 + Math.floor(index / 12);
    const maand = String((index % 12) + 1).padStart(2, "0");
    const iso = `${jaar}-${maand}-01`;
    return iso > vandaag() ? vandaag() : iso;
  }

  function element(naam, eigenschappen, ...kinderen) {
    const el = document.createElement(naam);
    for (const [sleutel, waarde] of Object.entries(eigenschappen || {})) {
      if (sleutel === "class") el.className = waarde;
      else if (sleutel.startsWith("on")) el.addEventListener(sleutel.slice(2), waarde);
      else if (waarde !== undefined && waarde !== null && waarde !== false) el.setAttribute(sleutel, waarde);
    }
    for (const kind of kinderen.flat()) {
      if (kind === null || kind === undefined || kind === false) continue;
      el.append(kind instanceof Node ? kind : document.createTextNode(String(kind)));
    }
    return el;
  }

  function rolNaam(rol) {
    return ROLLEN[rol] || rol.toLowerCase();
  }

  async function graphql(query, variables) {
    const antwoord = await fetch("graphql", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ query, variables }),
    });
    const body = await antwoord.json();
    if (body.errors && body.errors.length) throw new Error(body.errors.map((e) => e.message).join("; "));
    return body.data;
  }

  // RFC 7946 draws exterior rings counterclockwise; d3-geo works on the sphere and takes the clockwise ring
  // as the inside, so each ring is reversed for drawing (the served data stays as the standard says).
  function voorD3(geometrie) {
    const draai = (polygoon) => polygoon.map((ring) => ring.slice().reverse());
    if (geometrie.type === "Polygon") return { type: "Polygon", coordinates: draai(geometrie.coordinates) };
    return { type: "MultiPolygon", coordinates: geometrie.coordinates.map(draai) };
  }

  // --------------------------------------------------------------------------------------- the map

  function kleur(eigenschappen) {
    if (!eigenschappen.involved) return GEEN;
    if (staat.initiatief) {
      const rollen = eigenschappen.roles || [];
      return rollen.length === 1 ? ROL_KLEUREN[rollen[0]] || MEERDERE_ROLLEN : MEERDERE_ROLLEN;
    }
    return AANTAL_KLEUREN[Math.min(eigenschappen.initiativeCount, AANTAL_KLEUREN.length - 1)];
  }

  function betrokkenheidTekst(p) {
    if (!p.involved) return staat.initiatief ? "niet betrokken" : "geen initiatieven";
    if (staat.initiatief) {
      const rollen = (p.roles || []).map(rolNaam).join(", ");
      const via = (p.via || []).filter((v) => v !== "self").map((v) => VIA[v]);
      return rollen + (via.length ? ` (${via.join(", ")})` : "");
    }
    const aantal = p.initiativeCount;
    return `${aantal} ${aantal === 1 ? "initiatief" : "initiatieven"}`;
  }

  function teken(collectie) {
    const features = collectie.features.map((f) => ({ ...f, geometry: voorD3(f.geometry) }));
    if (!staat.projectie) {
      // Fitted once, on the first map: the province's outline hardly changes, and the map stays put.
      const alles = { type: "FeatureCollection", features };
      staat.projectie = d3.geoMercator().fitWidth(584, alles);
      const [, [, onder]] = d3.geoPath(staat.projectie).bounds(alles);
      kaart.setAttribute("viewBox", `-8 -8 600 ${Math.ceil(onder) + 16}`);
    }
    const pad = d3.geoPath(staat.projectie);
    kaart.replaceChildren();
    for (const feature of features) {
      const p = feature.properties;
      const vorm = document.createElementNS(SVG, "path");
      vorm.setAttribute("d", pad(feature));
      vorm.setAttribute("class", "gemeente" + (p.involved ? " betrokken" : "") + (p.code === staat.gekozen ? " gekozen" : ""));
      if (staat.initiatief && p.involved && (p.via || []).indexOf("self") < 0) vorm.classList.add("via");
      vorm.setAttribute("fill", kleur(p));
      vorm.dataset.code = p.code;
      vorm.dataset.naam = p.name;
      if (staat.initiatief) vorm.dataset.rollen = (p.roles || []).join(" ");
      const titel = document.createElementNS(SVG, "title");
      titel.textContent = `${p.name}: ${betrokkenheidTekst(p)}`;
      vorm.append(titel);
      vorm.addEventListener("click", () => kiesGemeente(p.code));
      kaart.append(vorm);
    }
    kaart.dataset.datum = collectie.on;
    kaart.dataset.initiatief = collectie.initiative || "";
  }

  function legenda(collectie) {
    const lijst = $("legenda");
    lijst.replaceChildren();
    const vlak = (kleurCode) => {
      const svg = document.createElementNS(SVG, "svg");
      svg.setAttribute("width", "14");
      svg.setAttribute("height", "14");
      svg.setAttribute("aria-hidden", "true");
      const rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("width", "14");
      rect.setAttribute("height", "14");
      rect.setAttribute("fill", kleurCode);
      rect.setAttribute("stroke", "#999");
      svg.append(rect);
      return svg;
    };
    const regel = (kleurCode, tekst) => lijst.append(element("li", {}, vlak(kleurCode), tekst));
    if (staat.initiatief) {
      const rollen = new Set();
      let meerdere = false;
      for (const f of collectie.features) {
        const r = f.properties.roles || [];
        if (r.length === 1) rollen.add(r[0]);
        if (r.length > 1) meerdere = true;
      }
      for (const rol of rollen) regel(ROL_KLEUREN[rol] || MEERDERE_ROLLEN, rolNaam(rol));
      if (meerdere) regel(MEERDERE_ROLLEN, "meerdere rollen");
      regel(GEEN, "niet betrokken");
      lijst.append(element("li", {}, "Gestippelde rand: betrokken via een voorganger of via de gemeente waarin zij opging"));
    } else {
      regel(AANTAL_KLEUREN[0], "geen initiatieven");
      regel(AANTAL_KLEUREN[1], "1 initiatief");
      regel(AANTAL_KLEUREN[2], "2 initiatieven");
      regel(AANTAL_KLEUREN[3], "3 initiatieven");
      regel(AANTAL_KLEUREN[4], "4 of meer initiatieven");
    }
  }

  function tabel(collectie) {
    const rijen = collectie.features
      .map((f) => f.properties)
      .sort((a, b) => a.name.localeCompare(b.name, "nl"));
    tabelBody.replaceChildren(
      ...rijen.map((p) =>
        element(
          "tr",
          { "data-code": p.code, class: p.code === staat.gekozen ? "gekozen" : "" },
          element("th", { scope: "row" }, element("button", { type: "button", class: "link", onclick: () => kiesGemeente(p.code) }, p.name)),
          element("td", {}, p.code),
          element("td", {}, betrokkenheidTekst(p)),
        ),
      ),
    );
    const wat = staat.initiatief ? `betrokkenheid bij ${initiatiefNamen[staat.initiatief] || staat.initiatief}` : "aantal initiatieven";
    $("tabel-bijschrift").textContent = `Gemeenten van Noord-Brabant op ${leesbaar(collectie.on)} (${rijen.length}), met ${wat}`;
  }

  async function laadKaart() {
    const nummer = ++staat.verzoek;
    const parameters = new URLSearchParams({ on: staat.datum });
    if (staat.initiatief) parameters.set("initiative", staat.initiatief);
    status.textContent = `Kaart van ${leesbaar(staat.datum)} laden…`;
    try {
      const antwoord = await fetch(`geo/municipalities.geojson?${parameters}`, { headers: { Accept: "application/geo+json" } });
      if (!antwoord.ok) throw new Error(await antwoord.text());
      const collectie = await antwoord.json();
      if (nummer !== staat.verzoek) return; // a newer choice is on its way
      const vorige = staat.collectie;
      staat.collectie = collectie;
      teken(collectie);
      legenda(collectie);
      tabel(collectie);
      const betrokken = collectie.features.filter((f) => f.properties.involved).length;
      const bij = staat.initiatief ? ` bij ${initiatiefNamen[staat.initiatief] || staat.initiatief}` : " bij een initiatief";
      let verschil = "";
      if (vorige) {
        // What changed since the map shown before: the fusions become visible as the boundaries change.
        const namen = (c) => new Map(c.features.map((f) => [f.properties.code, f.properties.name]));
        const voor = namen(vorige);
        const na = namen(collectie);
        const nieuw = [...na].filter(([code]) => !voor.has(code));
        const weg = [...voor].filter(([code]) => !na.has(code));
        for (const [code] of nieuw) {
          const vorm = kaart.querySelector(`path[data-code="${code}"]`);
          if (vorm) vorm.classList.add("nieuw");
        }
        const lijst = (paren) => paren.map(([, naam]) => naam).sort((a, b) => a.localeCompare(b, "nl")).join(", ");
        if (nieuw.length || weg.length) {
          verschil = ` Ten opzichte van ${leesbaar(vorige.on)}:` + (nieuw.length ? ` nieuw: ${lijst(nieuw)};` : "") + (weg.length ? ` opgeheven: ${lijst(weg)}.` : "");
        }
      }
      status.textContent = `Noord-Brabant op ${leesbaar(collectie.on)}: ${collectie.features.length} gemeenten, waarvan ${betrokken} betrokken${bij}.${verschil}`;
    } catch (fout) {
      if (nummer === staat.verzoek) status.textContent = `De kaart kon niet worden geladen: ${fout.message}`;
    }
  }

  // ------------------------------------------------------------------------------- a municipality

  const GEMEENTE = `query Gemeente($code: String!, $voorgangers: Boolean!) {
  municipality(code: $code) {
    name code foundedOn dissolvedOn
    formedBy { name kind effectiveOn dissolvedMunicipalities { name code } }
    dissolvedBy { name kind effectiveOn resultingMunicipalities { name code } }
    predecessors { name code }
    involvements(first: 100, includePredecessors: $voorgangers) {
      totalCount
      nodes {
        role description
        participant { name ... on Municipality { code } }
        initiative { slug name }
        sources { quote document { title } }
      }
    }
  }
}`;

  function gemeenteKnoppen(gemeenten) {
    return gemeenten.flatMap((g, i) => [
      i ? ", " : "",
      element("button", { type: "button", class: "link", onclick: () => kiesGemeente(g.code) }, g.name),
    ]);
  }

  async function kiesGemeente(code, voorgangers = false) {
    staat.gekozen = code;
    for (const el of document.querySelectorAll(".gekozen")) el.classList.remove("gekozen");
    for (const el of document.querySelectorAll(`[data-code="${code}"]`)) el.classList.add("gekozen");
    gemeenteInfo.replaceChildren(element("p", { class: "hint" }, "Laden…"));
    let data;
    try {
      data = await graphql(GEMEENTE, { code, voorgangers });
    } catch (fout) {
      gemeenteInfo.replaceChildren(element("p", { class: "fout" }, `Niet gelukt: ${fout.message}`));
      return;
    }
    const g = data.municipality;
    if (staat.gekozen !== code || !g) return;
    const feiten = element(
      "dl",
      {},
      element("dt", {}, "CBS-code"), element("dd", {}, g.code),
      element("dt", {}, "Ontstaan"), element("dd", {}, g.foundedOn ? leesbaar(g.foundedOn) : "vóór 2015"),
      element("dt", {}, "Opgeheven"), element("dd", {}, g.dissolvedOn ? `${leesbaar(g.dissolvedOn)} (laatste dag ${leesbaar(dagVoor(g.dissolvedOn))})` : "bestaat nog"),
      g.formedBy && [
        element("dt", {}, "Gevormd uit"),
        element("dd", {}, gemeenteKnoppen(g.formedBy.dissolvedMunicipalities), ` (${g.formedBy.name}, ${leesbaar(g.formedBy.effectiveOn)})`),
      ],
      g.dissolvedBy && [
        element("dt", {}, g.dissolvedBy.kind === "SPLIT" ? "Verdeeld over" : "Opgegaan in"),
        element("dd", {}, gemeenteKnoppen(g.dissolvedBy.resultingMunicipalities), ` (${g.dissolvedBy.name}, ${leesbaar(g.dissolvedBy.effectiveOn)})`),
      ],
    );
    const betrokkenheden = g.involvements.nodes;
    const lijst = betrokkenheden.length
      ? element(
          "ul",
          { class: "betrokkenheden" },
          betrokkenheden.map((b) =>
            element(
              "li",
              {},
              element("strong", {}, b.initiative.name),
              ` — ${rolNaam(b.role)}`,
              b.participant.code && b.participant.code !== g.code ? ` (als ${b.participant.name})` : "",
              b.description ? element("div", {}, b.description) : null,
              b.sources.map((s) => element("blockquote", { title: s.document.title }, `“${s.quote}”`)),
            ),
          ),
        )
      : element("p", {}, voorgangers ? "Geen betrokkenheid, ook niet van voorgangers." : "Geen betrokkenheid genoemd.");
    const keuze = g.predecessors.length
      ? element(
          "label",
          {},
          element("input", {
            type: "checkbox",
            id: "voorgangers",
            checked: voorgangers ? "checked" : null,
            onchange: (e) => kiesGemeente(code, e.target.checked),
          }),
          ` Ook de betrokkenheid van voorgangers (${g.predecessors.map((p) => p.name).join(", ")})`,
        )
      : null;
    gemeenteInfo.replaceChildren(
      ...[element("h2", {}, g.name), feiten, element("h3", {}, `Betrokkenheid (${g.involvements.totalCount})`), keuze, lijst].filter(Boolean),
    );
    if (!voorgangers) gemeenteInfo.focus({ preventScroll: window.innerWidth >= 900 });
  }

  // ------------------------------------------------------------------------------- an initiative

  const INITIATIEF = `query Initiatief($slug: String!) {
  initiative(slug: $slug) {
    name kind status summary crossOverThemes
    involvements(first: 100) {
      nodes { role description participant { __typename name ... on Municipality { code } } }
    }
    unresolvedMentions { name role note }
  }
}`;

  async function toonInitiatief(slug) {
    if (!slug) {
      initiatiefInfo.hidden = true;
      initiatiefInfo.replaceChildren();
      return;
    }
    initiatiefInfo.hidden = false;
    initiatiefInfo.replaceChildren(element("p", { class: "hint" }, "Laden…"));
    let data;
    try {
      data = await graphql(INITIATIEF, { slug });
    } catch (fout) {
      initiatiefInfo.replaceChildren(element("p", { class: "fout" }, `Niet gelukt: ${fout.message}`));
      return;
    }
    const i = data.initiative;
    if (staat.initiatief !== slug || !i) return;
    const deelnemers = (soort) =>
      i.involvements.nodes
        .filter((b) => (b.participant.__typename === "Municipality") === (soort === "gemeente"))
        .map((b) =>
          element(
            "li",
            {},
            b.participant.code
              ? element("button", { type: "button", class: "link", onclick: () => kiesGemeente(b.participant.code) }, b.participant.name)
              : b.participant.name,
            ` — ${rolNaam(b.role)}`,
            b.description ? `: ${b.description}` : "",
          ),
        );
    const gemeenten = deelnemers("gemeente");
    const organisaties = deelnemers("organisatie");
    const inhoud = [
      element("h2", {}, i.name),
      element("p", {}, `${SOORTEN[i.kind] || i.kind}, ${STATUS[i.status] || i.status}`, i.crossOverThemes.length ? ` · ${i.crossOverThemes.join(", ")}` : ""),
      element("p", {}, i.summary),
      element("h3", {}, `Gemeenten (${gemeenten.length})`),
      gemeenten.length ? element("ul", { class: "betrokkenheden" }, gemeenten) : element("p", {}, "Geen."),
      element("h3", {}, `Organisaties (${organisaties.length})`),
      organisaties.length ? element("ul", { class: "betrokkenheden", id: "organisaties" }, organisaties) : element("p", {}, "Geen."),
      i.unresolvedMentions.length
        ? [
            element("h3", {}, "Niet herleid"),
            element(
              "ul",
              { class: "betrokkenheden", id: "niet-herleid" },
              i.unresolvedMentions.map((m) =>
                element("li", { class: "onherleid" }, element("strong", {}, m.name), ` — ${rolNaam(m.role)}; niet herleid tot een gemeente of organisatie: ${m.note}`),
              ),
            ),
          ]
        : null,
    ];
    initiatiefInfo.replaceChildren(...inhoud.flat().filter(Boolean));
  }

  // --------------------------------------------------------------------------------- the controls

  function zetDatum(iso, vanSchuif = false) {
    if (!iso || iso < EERSTE_DAG) iso = EERSTE_DAG;
    if (iso > vandaag()) iso = vandaag();
    staat.datum = iso;
    datumVeld.value = iso;
    if (!vanSchuif) schuif.value = String(maandIndex(iso));
    schuif.setAttribute("aria-valuetext", leesbaar(iso));
    laadKaart();
  }

  let schuifTimer = null;
  schuif.addEventListener("input", () => {
    const iso = maandDatum(Number(schuif.value));
    datumVeld.value = iso;
    schuif.setAttribute("aria-valuetext", leesbaar(iso));
    clearTimeout(schuifTimer);
    schuifTimer = setTimeout(() => zetDatum(iso, true), 120);
  });
  datumVeld.addEventListener("change", () => zetDatum(datumVeld.value));
  initiatiefKeuze.addEventListener("change", () => {
    staat.initiatief = initiatiefKeuze.value;
    toonInitiatief(staat.initiatief);
    laadKaart();
  });
  $("keuzes").addEventListener("submit", (e) => e.preventDefault());

  async function begin() {
    datumVeld.max = vandaag();
    schuif.max = String(maandIndex(vandaag()));
    zetDatum(vandaag());
    try {
      const data = await graphql(
        `query Verkenner { initiatives(first: 100) { nodes { slug name } } fusions(first: 50) { nodes { name kind effectiveOn } } }`,
        {},
      );
      for (const i of data.initiatives.nodes) {
        initiatiefNamen[i.slug] = i.name;
        initiatiefKeuze.append(element("option", { value: i.slug }, i.name));
      }
      const knoppen = $("herindelingen");
      const perDag = new Map();
      for (const f of data.fusions.nodes) perDag.set(f.effectiveOn, [...(perDag.get(f.effectiveOn) || []), f.name]);
      for (const [dag, namen] of [...perDag.entries()].sort()) {
        if (dagVoor(dag) >= EERSTE_DAG) {
          const ervoor = `De dag vóór ${namen.join(", ")}: ${leesbaar(dagVoor(dag))}`;
          knoppen.append(element("button", { type: "button", title: ervoor, "aria-label": ervoor, onclick: () => zetDatum(dagVoor(dag)) }, "◀"));
        }
        knoppen.append(
          element("button", { type: "button", title: `Kaart van ${leesbaar(dag)}`, onclick: () => zetDatum(dag) }, `${dag.slice(0, 4)}: ${namen.join(", ")}`),
        );
      }
    } catch (fout) {
      status.textContent = `De initiatieven konden niet worden geladen: ${fout.message}`;
    }
  }

  begin();
})();
