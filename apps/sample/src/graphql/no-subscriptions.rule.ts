import { GraphQLError, type ASTVisitor, type ValidationContext } from 'graphql';

/**
 * The sample serves queries and mutations over HTTP only. A subscription operation would reach
 * execution and fail there as an internal error (graphql-js: no subscription root type); refused at
 * validation instead, it is a 400 `GRAPHQL_VALIDATION_FAILED` that says why.
 */
export function NoSubscriptionsRule(context: ValidationContext): ASTVisitor {
  return {
    OperationDefinition(node) {
      if (node.operation === 'subscription') {
        context.reportError(new GraphQLError('Subscriptions are not served: use a query or a mutation.', { nodes: [node] }));
      }
    },
  };
}
