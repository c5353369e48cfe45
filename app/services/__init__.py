"""Domain logic and queries: async, keyword-only arguments, no GraphQL imports."""
