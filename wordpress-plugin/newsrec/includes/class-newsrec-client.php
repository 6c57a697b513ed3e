<?php
/**
 * The service's HTTP API, through WordPress's HTTP API (wp_remote_request).
 *
 * @package Newsrec
 */

defined( 'ABSPATH' ) || exit;

/**
 * Calls the newsrec service.
 */
class Newsrec_Client {

	/** After a connection failure, reads skip the service for this many seconds. */
	const DOWN_SECONDS = 30;

	/**
	 * Settings in use.
	 *
	 * @var array
	 */
	private $settings;

	/**
	 * A client on the stored settings, or on the given ones.
	 *
	 * @param array|null $settings Settings.
	 */
	public function __construct( $settings = null ) {
		$this->settings = null === $settings ? Newsrec_Settings::get() : $settings;
	}

	/**
	 * Whether a service URL is set.
	 *
	 * @return bool
	 */
	public function configured() {
		return '' !== Newsrec_Settings::service_url( $this->settings );
	}

	/**
	 * One request. Never throws: a failure is an answer with status 0.
	 *
	 * @param string     $method  HTTP method.
	 * @param string     $path    Path with query string, from the service's root.
	 * @param array|null $body    JSON body.
	 * @param array      $headers Extra headers.
	 * @return array status (0: no answer), code (JSON error code), message, data (decoded JSON
	 *               or null), headers (lower-case names).
	 */
	public function request( $method, $path, $body = null, array $headers = array() ) {
		$base = Newsrec_Settings::service_url( $this->settings );
		if ( '' === $base ) {
			return self::answer( 0, 'not_configured', __( 'No service URL is set.', 'newsrec' ) );
		}
		$headers['Accept']     = 'application/json';
		$headers['User-Agent'] = 'newsrec-wordpress/' . NEWSREC_VERSION . '; ' . home_url( '/' );
		$args                  = array(
			'method'      => $method,
			'timeout'     => (int) $this->settings['timeout'],
			'redirection' => 0,
			'headers'     => $headers,
		);
		if ( null !== $body ) {
			$args['headers']['Content-Type'] = 'application/json';
			$args['body']                    = wp_json_encode( $body );
		}
		$response = wp_remote_request( $base . $path, $args );
		if ( is_wp_error( $response ) ) {
			return self::answer( 0, 'unreachable', $response->get_error_message() );
		}
		$status = (int) wp_remote_retrieve_response_code( $response );
		$data   = json_decode( (string) wp_remote_retrieve_body( $response ), true );
		$error  = is_array( $data ) && isset( $data['error'] ) && is_array( $data['error'] ) ? $data['error'] : array();
		$answer = self::answer(
			$status,
			(string) ( $error['code'] ?? '' ),
			(string) ( $error['message'] ?? wp_remote_retrieve_response_message( $response ) )
		);
		$answer['data'] = is_array( $data ) ? $data : null;
		foreach ( wp_remote_retrieve_headers( $response ) as $name => $value ) {
			$answer['headers'][ strtolower( $name ) ] = is_array( $value ) ? implode( ', ', $value ) : (string) $value;
		}
		return $answer;
	}

	/**
	 * An answer array.
	 *
	 * @param int    $status  HTTP status, 0 for none.
	 * @param string $code    Error code.
	 * @param string $message Error message.
	 * @return array
	 */
	private static function answer( $status, $code, $message ) {
		return array(
			'status'  => (int) $status,
			'code'    => (string) $code,
			'message' => (string) $message,
			'data'    => null,
			'headers' => array(),
		);
	}

	/**
	 * Headers of the CMS routes.
	 *
	 * @return array
	 */
	private function cms_headers() {
		return array( 'Authorization' => 'Bearer ' . Newsrec_Settings::token() );
	}

	/**
	 * Publishes or updates an article (PUT /v1/articles/{id}).
	 *
	 * @param string $id      Article id (the post ID).
	 * @param array  $payload The article's fields.
	 * @return array An answer.
	 */
	public function put_article( $id, array $payload ) {
		return $this->request( 'PUT', '/v1/articles/' . rawurlencode( $id ), $payload, $this->cms_headers() );
	}

	/**
	 * Unpublishes an article (DELETE /v1/articles/{id}).
	 *
	 * @param string $id Article id.
	 * @return array An answer.
	 */
	public function delete_article( $id ) {
		return $this->request( 'DELETE', '/v1/articles/' . rawurlencode( $id ), null, $this->cms_headers() );
	}

	/**
	 * The items of a list (related or most viewed), cached in a transient; null when the service
	 * cannot answer now (the block is then left out, and the failure logged).
	 *
	 * @param string $path  Path and query string.
	 * @return array|null
	 */
	public function items( $path ) {
		$ttl = (int) $this->settings['cache_ttl'];
		$key = 'newsrec_list_' . md5( Newsrec_Settings::service_url( $this->settings ) . $path );
		if ( $ttl > 0 ) {
			$cached = get_transient( $key );
			if ( is_array( $cached ) ) {
				return $cached;
			}
		}
		if ( get_transient( 'newsrec_down' ) ) {
			return null;
		}
		$answer = $this->request( 'GET', $path );
		if ( 200 === $answer['status'] && isset( $answer['data']['items'] ) && is_array( $answer['data']['items'] ) ) {
			$items = $answer['data']['items'];
		} elseif ( 404 === $answer['status'] && 'unknown_article' === $answer['code'] ) {
			$items = array(); // Not in the model yet (a post the service has not received).
		} else {
			if ( 0 === $answer['status'] ) {
				set_transient( 'newsrec_down', 1, self::DOWN_SECONDS );
			}
			Newsrec_Plugin::log( sprintf( 'GET %s: %s', $path, self::describe( $answer ) ) );
			return null;
		}
		if ( $ttl > 0 ) {
			set_transient( $key, $items, $ttl );
		}
		return $items;
	}

	/**
	 * Related articles of a post.
	 *
	 * @param int $post_id Post ID.
	 * @param int $n       How many.
	 * @return array|null
	 */
	public function related( $post_id, $n ) {
		return $this->items( '/v1/articles/' . rawurlencode( (string) $post_id ) . '/related?' . http_build_query( array( 'n' => (int) $n ) ) );
	}

	/**
	 * The most viewed articles.
	 *
	 * @param int    $n        How many.
	 * @param string $window   1h, 24h, 1d, 7d, 30d or all.
	 * @param string $category A section, '' for all.
	 * @return array|null
	 */
	public function most_viewed( $n, $window, $category = '' ) {
		$query = array(
			'n'      => (int) $n,
			'window' => $window,
		);
		if ( '' !== $category ) {
			$query['category'] = $category;
		}
		return $this->items( '/v1/most-viewed?' . http_build_query( $query ) );
	}

	/**
	 * A check of the connection for the settings page: readiness, the token, and whether
	 * readers' browsers may call the service from this site (CORS, for the widget).
	 *
	 * @return array ok (bool), lines (list of array( bool ok, text )).
	 */
	public function check() {
		$lines = array();
		$ready = $this->request( 'GET', '/readyz' );
		if ( 200 === $ready['status'] ) {
			$lines[] = array(
				true,
				/* translators: %s: model version. */
				sprintf( __( 'Service ready: model %s.', 'newsrec' ), (string) ( $ready['data']['model_version'] ?? '?' ) ),
			);
		} else {
			$lines[] = array(
				false,
				/* translators: %s: what went wrong. */
				sprintf( __( 'Service not ready: %s.', 'newsrec' ), self::describe( $ready ) ),
			);
			return array(
				'ok'    => false,
				'lines' => $lines,
			);
		}
		// Unpublishing an id no article has changes nothing, and tells the token's fate apart.
		$probe = $this->delete_article( '__newsrec_token_check__' );
		if ( 404 === $probe['status'] && 'unknown_article' === $probe['code'] ) {
			$lines[] = array( true, __( 'CMS token accepted: publishing and unpublishing work.', 'newsrec' ) );
		} elseif ( 401 === $probe['status'] ) {
			$lines[] = array( false, __( 'CMS token refused: enter the service\'s NEWSREC_CMS_TOKEN.', 'newsrec' ) );
		} elseif ( 404 === $probe['status'] ) {
			$lines[] = array( false, __( 'The service has no CMS API: set NEWSREC_CMS_TOKEN on the service.', 'newsrec' ) );
		} else {
			/* translators: %s: what went wrong. */
			$lines[] = array( false, sprintf( __( 'CMS API: %s.', 'newsrec' ), self::describe( $probe ) ) );
		}
		if ( ! empty( $this->settings['widget'] ) ) {
			$origin = self::origin( home_url( '/' ) );
			$cors   = $this->request( 'GET', '/v1/most-viewed?n=1', null, array( 'Origin' => $origin ) );
			$allow  = $cors['headers']['access-control-allow-origin'] ?? '';
			if ( $allow === $origin || '*' === $allow ) {
				/* translators: %s: the site's origin. */
				$lines[] = array( true, sprintf( __( 'Browsers on %s may call the service (CORS): the widget refreshes the blocks.', 'newsrec' ), $origin ) );
			} else {
				/* translators: %s: the site's origin. */
				$lines[] = array( false, sprintf( __( 'The service does not allow %s (add it to NEWSREC_CORS_ORIGINS), so the widget hides the blocks in browsers: turn the widget off or allow the origin.', 'newsrec' ), $origin ) );
			}
		}
		$ok = true;
		foreach ( $lines as $line ) {
			$ok = $ok && $line[0];
		}
		return array(
			'ok'    => $ok,
			'lines' => $lines,
		);
	}

	/**
	 * The origin (scheme://host[:port]) of a URL.
	 *
	 * @param string $url A URL.
	 * @return string
	 */
	public static function origin( $url ) {
		$parts = wp_parse_url( $url );
		$port  = isset( $parts['port'] ) ? ':' . $parts['port'] : '';
		return strtolower( ( $parts['scheme'] ?? 'http' ) . '://' . ( $parts['host'] ?? '' ) ) . $port;
	}

	/**
	 * An answer in words, for logs and notices.
	 *
	 * @param array $answer An answer.
	 * @return string
	 */
	public static function describe( array $answer ) {
		if ( 0 === $answer['status'] ) {
			return 'no answer (' . $answer['message'] . ')';
		}
		$text = 'HTTP ' . $answer['status'];
		if ( '' !== $answer['code'] ) {
			$text .= ' ' . $answer['code'];
		}
		return '' !== $answer['message'] ? $text . ': ' . $answer['message'] : $text;
	}
}
