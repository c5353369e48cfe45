/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  query MunicipalityInvolvements($code: String!) {\n    municipality(code: $code) {\n      code\n      name\n      formedBy {\n        name\n        effectiveOn\n        dissolvedMunicipalities {\n          code\n          name\n        }\n      }\n      involvements(includePredecessors: true) {\n        totalCount\n        nodes {\n          role\n          description\n          initiative {\n            slug\n            name\n          }\n          participant {\n            __typename\n            name\n          }\n        }\n      }\n    }\n  }\n": typeof types.MunicipalityInvolvementsDocument,
    "\n  query InitiativesPage($first: Int!, $after: String, $filter: InitiativeFilter) {\n    initiatives(first: $first, after: $after, filter: $filter) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        id\n        slug\n        name\n        kind\n        status\n        crossOverThemes\n      }\n    }\n  }\n": typeof types.InitiativesPageDocument,
};
const documents: Documents = {
    "\n  query MunicipalityInvolvements($code: String!) {\n    municipality(code: $code) {\n      code\n      name\n      formedBy {\n        name\n        effectiveOn\n        dissolvedMunicipalities {\n          code\n          name\n        }\n      }\n      involvements(includePredecessors: true) {\n        totalCount\n        nodes {\n          role\n          description\n          initiative {\n            slug\n            name\n          }\n          participant {\n            __typename\n            name\n          }\n        }\n      }\n    }\n  }\n": types.MunicipalityInvolvementsDocument,
    "\n  query InitiativesPage($first: Int!, $after: String, $filter: InitiativeFilter) {\n    initiatives(first: $first, after: $after, filter: $filter) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        id\n        slug\n        name\n        kind\n        status\n        crossOverThemes\n      }\n    }\n  }\n": types.InitiativesPageDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query MunicipalityInvolvements($code: String!) {\n    municipality(code: $code) {\n      code\n      name\n      formedBy {\n        name\n        effectiveOn\n        dissolvedMunicipalities {\n          code\n          name\n        }\n      }\n      involvements(includePredecessors: true) {\n        totalCount\n        nodes {\n          role\n          description\n          initiative {\n            slug\n            name\n          }\n          participant {\n            __typename\n            name\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query MunicipalityInvolvements($code: String!) {\n    municipality(code: $code) {\n      code\n      name\n      formedBy {\n        name\n        effectiveOn\n        dissolvedMunicipalities {\n          code\n          name\n        }\n      }\n      involvements(includePredecessors: true) {\n        totalCount\n        nodes {\n          role\n          description\n          initiative {\n            slug\n            name\n          }\n          participant {\n            __typename\n            name\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query InitiativesPage($first: Int!, $after: String, $filter: InitiativeFilter) {\n    initiatives(first: $first, after: $after, filter: $filter) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        id\n        slug\n        name\n        kind\n        status\n        crossOverThemes\n      }\n    }\n  }\n"): (typeof documents)["\n  query InitiativesPage($first: Int!, $after: String, $filter: InitiativeFilter) {\n    initiatives(first: $first, after: $after, filter: $filter) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        id\n        slug\n        name\n        kind\n        status\n        crossOverThemes\n      }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;