// The operations this client sends. `npm run codegen` reads them (and the committed SDL) and writes
// their result and variable types to src/gql/; `graphql(...)` then returns a TypedDocumentNode.
import { graphql } from "./gql/index.js";

/** Today's municipality with what it and the municipalities it was formed from are involved in. */
export const MunicipalityInvolvements = graphql(`
  query MunicipalityInvolvements($code: String!) {
    municipality(code: $code) {
      code
      name
      formedBy {
        name
        effectiveOn
        dissolvedMunicipalities {
          code
          name
        }
      }
      involvements(includePredecessors: true) {
        totalCount
        nodes {
          role
          description
          initiative {
            slug
            name
          }
          participant {
            __typename
            name
          }
        }
      }
    }
  }
`);

/** One page of initiatives, narrowed by a filter; pass the previous page's `endCursor` as `after`. */
export const InitiativesPage = graphql(`
  query InitiativesPage($first: Int!, $after: String, $filter: InitiativeFilter) {
    initiatives(first: $first, after: $after, filter: $filter) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        id
        slug
        name
        kind
        status
        crossOverThemes
      }
    }
  }
`);
