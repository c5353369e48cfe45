// Renders GraphiQL (app/web/graphiql.py serves the page); every asset comes from this service.
(function () {
  "use strict";
  var examples = JSON.parse(document.getElementById("graphiql-examples").textContent);
  var url = window.location.origin + window.location.pathname;
  var subscriptionUrl = url.replace(/^http/, "ws");
  var graphqlFetcher = GraphiQL.createFetcher({ url: url, subscriptionUrl: subscriptionUrl });
  // Right after a tab switch GraphiQL can still send the previous tab's operationName with the new
  // tab's document ("Unknown operation named ..."). Send only a name the document defines.
  function definesOperation(query, name) {
    return new RegExp("\\b(query|mutation|subscription)\\s+" + name + "\\b").test(query || "");
  }
  function fetcher(params, options) {
    if (params && params.operationName && !definesOperation(params.query, params.operationName)) {
      params = Object.assign({}, params, { operationName: undefined });
    }
    return graphqlFetcher(params, options);
  }
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultTabs: examples.map(function (query) {
        return { query: query };
      }),
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      inputValueDeprecation: true,
    }),
  );
})();
