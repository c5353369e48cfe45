/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
/** Narrows a list of initiatives. All given conditions must hold. */
export type InitiativeFilter = {
  /** Only of these kinds. */
  kinds?: Array<InitiativeKind> | null | undefined;
  /** Only those this municipality is involved in (CBS code). */
  municipalityCode?: string | null | undefined;
  /** Only those this organisation is involved in. */
  organizationSlug?: string | null | undefined;
  /** With municipalityCode or organizationSlug: only where it plays one of these roles. Alone: only initiatives with an involvement in one of these roles. */
  roles?: Array<PartnerRole> | null | undefined;
  /** Words that must all occur in the name or summary (case- and accent-insensitive; a word matches the start or middle of a word). */
  search?: string | null | undefined;
  /** Only with one of these statuses. */
  statuses?: Array<InitiativeStatus> | null | undefined;
  /** Only those with this cross-over theme (case- and accent-insensitive). */
  theme?: string | null | undefined;
};

/** What sort of initiative it is. */
export type InitiativeKind =
  /** A fund. */
  | 'FUND'
  /** Exchange of knowledge and networks. */
  | 'KNOWLEDGE_EXCHANGE'
  /** A method or tool, e.g. a dialogue game. */
  | 'METHOD'
  /** A network or community. */
  | 'NETWORK'
  /** A pilot. */
  | 'PILOT'
  /** A programme of its own. */
  | 'PROGRAMME'
  /** A test bed (proeftuin). */
  | 'TEST_BED';

/** Where an initiative stands, as its source describes it. */
export type InitiativeStatus =
  /** Running. */
  | 'ACTIVE'
  /** Finished. */
  | 'COMPLETED'
  /** Being explored or prepared. */
  | 'EXPLORING';

/** The part a participant plays in an initiative, mapped from the source's words. */
export type PartnerRole =
  /** Project coordination, monitoring and direction ("projectcoördinatie, monitoring en regie"). */
  | 'COORDINATOR'
  /** Designed or developed it ("ontwikkeld", "social designers"). */
  | 'DESIGNER'
  /** Carries it out ("uitgevoerd door"). */
  | 'EXECUTOR'
  /** Explores a similar approach ("wordt een soortgelijke aanpak verkend"). */
  | 'EXPLORING'
  /** Funds or subsidises it ("gesubsidieerd vanuit"). */
  | 'FUNDER'
  /** Where it was applied ("toegepast in"). */
  | 'HOST'
  /** Initiated or commissioned it ("gezamenlijk initiatief van", "in opdracht van"). */
  | 'INITIATOR'
  /** Member of a network or community ("lid van"). */
  | 'MEMBER'
  /** Attends as a listener ("als toehoorder"). */
  | 'OBSERVER'
  /** Takes part in it, is connected to it ("aangesloten"). */
  | 'PARTICIPANT'
  /** Works on it together with the others ("werken samen"). */
  | 'PARTNER'
  /** Independent process facilitation ("procesbegeleider"). */
  | 'PROCESS_FACILITATOR'
  /** Asked for it ("inspelend op de vraag van"). */
  | 'REQUESTER';

export type MunicipalityInvolvementsQueryVariables = Exact<{
  code: string;
}>;


export type MunicipalityInvolvementsQuery = { municipality: { code: string, name: string, formedBy: { name: string, effectiveOn: string, dissolvedMunicipalities: Array<{ code: string, name: string }> } | null, involvements: { totalCount: number, nodes: Array<{ role: PartnerRole, description: string | null, initiative: { slug: string, name: string }, participant:
          | { __typename: 'Municipality', name: string }
          | { __typename: 'Organization', name: string }
         }> } } | null };

export type InitiativesPageQueryVariables = Exact<{
  first: number;
  after?: string | null | undefined;
  filter?: InitiativeFilter | null | undefined;
}>;


export type InitiativesPageQuery = { initiatives: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, nodes: Array<{ id: string, slug: string, name: string, kind: InitiativeKind, status: InitiativeStatus, crossOverThemes: Array<string> }> } };


export const MunicipalityInvolvementsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"MunicipalityInvolvements"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"code"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"municipality"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"code"},"value":{"kind":"Variable","name":{"kind":"Name","value":"code"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"formedBy"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"effectiveOn"}},{"kind":"Field","name":{"kind":"Name","value":"dissolvedMunicipalities"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"involvements"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"includePredecessors"},"value":{"kind":"BooleanValue","value":true}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"role"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"initiative"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"slug"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"participant"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<MunicipalityInvolvementsQuery, MunicipalityInvolvementsQueryVariables>;
export const InitiativesPageDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"InitiativesPage"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"InitiativeFilter"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"initiatives"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}},{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}},{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"slug"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"crossOverThemes"}}]}}]}}]}}]} as unknown as DocumentNode<InitiativesPageQuery, InitiativesPageQueryVariables>;